// Test helper: runs the DCC Boxed reference tool (Sign / Validate from tool.jar) over many
// files in ONE JVM. Usage: java -cp tool.jar BoxedBatch.java sign|validate OUTDIR FILE...
// Prints "<exit code> <index>" per file; the tool's stdout for file i goes to OUTDIR/i.out.
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Paths;
import uk.co.smartdcc.boxed.xmldsig.ResultCode;
import uk.co.smartdcc.boxed.xmldsig.Sign;
import uk.co.smartdcc.boxed.xmldsig.Validate;

public class BoxedBatch {
    public static void main(String[] args) throws Exception {
        String mode = args[0];
        String outDir = args[1];
        PrintStream realOut = System.out;
        for (int i = 2; i < args.length; i++) {
            ByteArrayOutputStream buf = new ByteArrayOutputStream();
            System.setOut(new PrintStream(buf, true, "UTF-8"));
            ResultCode rc;
            try {
                if (mode.equals("sign")) {
                    rc = Sign.main_aux(new String[] {args[i], "--preserveCounter"});
                } else {
                    rc = Validate.main_aux(new String[] {args[i]});
                }
            } catch (Exception e) {
                rc = ResultCode.GENERIC_ERROR;
            } finally {
                System.setOut(realOut);
            }
            Files.write(Paths.get(outDir, (i - 2) + ".out"), buf.toByteArray());
            realOut.println(rc.value() + " " + (i - 2));
        }
    }
}
